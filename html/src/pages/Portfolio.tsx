export default function Portfolio() {
  return <div className="page"><h1>Portfolio</h1></div>;
}
